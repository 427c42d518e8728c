"""``python -m engine.cli``: the same as the ``lowcode`` command."""

import sys

from engine.cli import main

sys.exit(main())
