from nexuspoint.cli import main

raise SystemExit(main())
