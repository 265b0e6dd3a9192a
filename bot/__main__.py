"""`python -m bot`: the same as the `balie` command."""

import sys

from bot.cli import main

sys.exit(main())
