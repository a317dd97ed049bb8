"""Operator CLI for the ``live`` alias rollout: ``python -m tools.rollout --help``.

Modules, one job each:
    errors       exit codes and the errors that map to them
    clients      boto3 session/clients built like the AWS CLI (--profile/--region/--endpoint-url)
    aliases      read the alias, validate a proposed routing like AWS does, update it with RevisionId
    deployments  find the CodeDeploy app/group and any deployment in progress on it
    health       per-version CloudWatch metrics behind the alias
    operations   status / canary / promote / rollback, built from the modules above
    cli          argparse and output (human text or --json)
"""
