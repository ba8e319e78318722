"""Building the Lambda package."""
