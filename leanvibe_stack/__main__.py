from leanvibe_stack.cli import main

main()
