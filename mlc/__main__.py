from __future__ import annotations

import sys

from mlc.cli import main

sys.exit(main())
