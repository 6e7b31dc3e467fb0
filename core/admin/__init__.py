"""The operators' dashboard (`/admin`): pages that read the database through `queries`."""
