"""Lightning callbacks of toonlift."""
