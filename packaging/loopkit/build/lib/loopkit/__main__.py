from loopkit.cli import main

main()
