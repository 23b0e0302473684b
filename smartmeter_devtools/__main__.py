"""`python -m smartmeter_devtools`: decode, bench, simulate."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
