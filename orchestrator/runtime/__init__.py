"""The only user of the Docker Engine: containers, pulls, secret files, and Docker's values as ours."""
