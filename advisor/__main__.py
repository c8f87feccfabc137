"""`python -m advisor` entry point."""

from advisor.cli import main

raise SystemExit(main())
