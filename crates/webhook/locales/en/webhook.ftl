# Labels of the webhook alert (culture: en), beside those of the failure mail.
FailureType = Failure Type
Tries = Tries
Node = Node
JobAbandoned = The job was abandoned after this failure and will not be retried.
FailureBusiness = Business
FailureApplication = Application
FailureNetwork = Network
FailureSystem = System
