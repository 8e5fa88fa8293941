from leanvibe_stack.launcher import console

console()
