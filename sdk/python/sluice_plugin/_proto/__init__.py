"""Generated protocol code (generate.sh); not part of the sdk's API."""
