"""``python3 -m txpipe_tools.local_stack``: see cli.py."""

import sys

from txpipe_tools.local_stack.cli import main

sys.exit(main())
