import sys

from studytool.cli import main

sys.exit(main())
