"""MiniStack (PyPI `ministack`, an AWS emulator in pure Python) as the target of a real `sam deploy`.

The deploy rehearsal (tests/e2e/test_deploy_rehearsal.py) deploys the unchanged template.yaml to it.
`python -m local.ministack`, run with .venv-ministack's interpreter, starts the emulator with the few
adaptations this project's template needs (see patches.py, codedeploy.py, settings.py); server.py
starts and stops that process from the test suite.

Modules:
  settings.py   the emulator's own configuration (environment variables) for this project
  codedeploy.py no-op CloudFormation handlers for the CodeDeploy resources SAM generates
  patches.py    the version pin and three small patches (API import of ANY, warm pool per version,
                metric math alarms)
  __main__.py   the launcher: checks, registers, patches, then runs ministack's own main()
  server.py     start/stop the launcher from Python (any interpreter; standard library only)
"""
