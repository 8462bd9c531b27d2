# harness/: bin/harness (load generator + measuring runner), one folder per stage of a run:
# plan/, load/, observe/, run/, record/ (harness/README.md maps them). Its files include each
# other by folder ("load/gen.h"), so its objects and its tests' see harness/.
HARNESS_SRC := $(wildcard harness/*.c harness/*/*.c)
PROGRAMS += $(BIN)/harness
$(BIN)/harness: $(call obj,$(HARNESS_SRC)) $(COMMON_OBJ)
$(BUILD)/harness/%.o $(BUILD)/tests/%.o: CFLAGS += -Iharness

# unit tests of harness modules link the module itself
$(BUILD)/tests/unit/test_sched: $(call obj,harness/load/sched.c)
$(BUILD)/tests/unit/test_probe: $(call obj,harness/observe/probe.c harness/observe/perfcs.c)
$(BUILD)/tests/unit/test_placement: $(call obj,harness/plan/placement.c)
$(BUILD)/tests/unit/test_capacity: $(call obj,harness/run/capacity.c harness/load/load.c \
                                        harness/load/load_conn.c harness/load/sched.c)
$(BUILD)/tests/unit/test_fdplan: $(call obj,harness/plan/fdplan.c)
$(BUILD)/tests/unit/test_datagen: $(call obj,harness/run/datagen.c)
$(BUILD)/tests/unit/test_inflight: $(call obj,harness/observe/inflight.c)
$(BUILD)/tests/unit/test_limits: $(call obj,harness/observe/limits.c harness/observe/probe.c harness/observe/perfcs.c)
$(BUILD)/tests/unit/test_hosts: $(call obj,harness/hosts/hosts.c harness/hosts/hello.c \
                                     harness/load/wire.c harness/plan/placement.c \
                                     harness/load/load.c harness/load/load_conn.c \
                                     harness/load/sched.c)
