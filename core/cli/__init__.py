"""The `supporthub` command line (`main`) and the server it starts (`server`)."""
