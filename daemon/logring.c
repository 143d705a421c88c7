/* logring.c: placeholder; being written. */
