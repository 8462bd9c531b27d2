# tests/: Criterion binaries under $(BUILD)/tests/. Each tests/unit/test_X.c and
# tests/integration/test_X.c is one binary, linked with common/ and with the
# helpers in tests/support/.
TEST_SUPPORT_OBJ := $(call obj,$(wildcard tests/support/*.c))
TEST_SRC := $(wildcard tests/unit/test_*.c tests/integration/test_*.c)
TESTS    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_SUPPORT_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

.PHONY: tests
tests: $(TESTS)
