"""Pure launch plans: settings -> what one container needs, as values, a `docker run` line or Compose."""
