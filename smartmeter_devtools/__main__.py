"""`python -m smartmeter_devtools`: decode, bench, simulate, fuzz."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
