from levante.cli.main import main

raise SystemExit(main())
