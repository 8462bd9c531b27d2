# microbench/: spawn and switch cost of tasks vs threads, no sockets.
PROGRAMS += $(BIN)/spawn_bench $(BIN)/switch_bench
$(BIN)/spawn_bench: $(call obj,microbench/spawn_bench.c microbench/spawn_json.c microbench/spawn_task.c \
        microbench/spawn_thread.c microbench/wall.c microbench/mbutil.c) $(COMMON_OBJ)
$(BIN)/switch_bench: $(call obj,microbench/switch_bench.c microbench/switch_task.c \
        microbench/switch_thread.c microbench/switch_baseline.c microbench/mbutil.c) $(COMMON_OBJ)
