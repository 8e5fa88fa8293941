from leanvibe_stack.launcher import main

main()
