# harness/: bin/harness (load generator + measuring runner).
HARNESS_SRC := $(wildcard harness/*.c)
PROGRAMS += $(BIN)/harness
$(BIN)/harness: $(call obj,$(HARNESS_SRC)) $(COMMON_OBJ)

# unit tests of harness modules link the module itself
$(BUILD)/tests/unit/test_sched: $(call obj,harness/sched.c)
$(BUILD)/tests/unit/test_probe: $(call obj,harness/probe.c harness/perfcs.c)
$(BUILD)/tests/unit/test_placement: $(call obj,harness/placement.c)
$(BUILD)/tests/unit/test_capacity: $(call obj,harness/capacity.c harness/load.c harness/load_conn.c \
                                        harness/sched.c)
$(BUILD)/tests/unit/test_fdplan: $(call obj,harness/fdplan.c)
$(BUILD)/tests/unit/test_datagen: $(call obj,harness/datagen.c)
$(BUILD)/tests/unit/test_inflight: $(call obj,harness/inflight.c)
