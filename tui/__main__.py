"""`python -m tui` is the `swapdeck` command."""
import sys

from tui.cli.main import main

sys.exit(main())
