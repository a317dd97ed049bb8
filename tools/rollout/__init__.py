"""Operator CLI for the ``live`` alias rollout: ``python -m tools.rollout --help``.

Modules, one job each:
    errors       exit codes and the errors that map to them
    arguments    the argparse parser and every argument check that needs no AWS call
    clients      boto3 session/clients built like the AWS CLI (--profile/--region/--endpoint-url)
    aliases      read the alias, validate a proposed routing like AWS does, update it with RevisionId
    deployments  find the CodeDeploy app/group and any deployment in progress on it
    health       per-version CloudWatch metrics behind the alias
    operations   status / canary / promote / rollback, built from the modules above
    output       stdout in the AWS CLI's formats: --output table (default), text, json
    cli          main: parse, run one command, result to stdout, warnings and errors to stderr
"""
