# Labels of the built-in failed-job e-mail (culture: en).
JobExecuteError = Background job exception
TenantName = TenantName
JobGroup = Job Group
JobName = Job Name
JobId = Job Id
JobType = Job Type
TriggerTime = Trigger Time
ErrorMessage = Error Message
