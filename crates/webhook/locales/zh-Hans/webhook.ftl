# Labels of the webhook alert (culture: zh-Hans), beside those of the failure mail.
FailureType = 失败类型
Tries = 尝试次数
Node = 执行节点
JobAbandoned = 作业在本次失败后已被放弃，不会再重试。
FailureBusiness = 业务
FailureApplication = 应用
FailureNetwork = 网络
FailureSystem = 系统
