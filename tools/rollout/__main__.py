import sys

from tools.rollout.cli import main

sys.exit(main())
