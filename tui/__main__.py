"""`python -m tui` is the `swapdeck` command."""
import sys

from tui.cli import main

sys.exit(main())
