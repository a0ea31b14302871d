from heartwatch.cli import main

main()
