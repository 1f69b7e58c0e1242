"""The command line: the dispatcher, the kit every command shares, and one module per subcommand."""
