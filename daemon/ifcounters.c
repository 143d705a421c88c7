/* ifcounters.c: placeholder; being written. */
