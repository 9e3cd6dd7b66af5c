// The entry point: everything, including the exit code, is decided in `Twlab.main()`.
Twlab.main()
