"""The operators' dashboard (`/admin`): its routes (`app`), its pages (`views/`), what they read
from the database (`queries/`), and the staff desk in the browser (`inbox/`)."""
