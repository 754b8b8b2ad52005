"""One module per subcommand; each exposes ``add_parser(subparsers)`` and sets ``handler`` on its parser."""
