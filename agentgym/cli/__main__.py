"""``python -m agentgym.cli ...`` (and ``torchrun ... -m agentgym.cli train ...``): the ``agentgym`` command."""

import sys

from agentgym.cli import main

sys.exit(main())
