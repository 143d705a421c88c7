/* threshold.c: placeholder; being written. */
