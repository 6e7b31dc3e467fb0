"""The database: schema and engine (`db`), migrations, and one store per job. Stores read and
write rows; they decide nothing about answering or handing over."""
