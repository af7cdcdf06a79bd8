"""The `tousu` command (Typer + Rich): parse → call one service → print. No business rule here."""
