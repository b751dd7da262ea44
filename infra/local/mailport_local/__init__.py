"""The whole of mailport on one machine, without an AWS account.

moto (in server mode, over real HTTP) stands in for AWS; every resource is created from
template.yaml; the functions' real handlers run in-process, fed by stand-ins for Lambda's
event sources (SQS polling, the schedule, Step Functions' Lambda tasks, API Gateway).
"""
