/* engine/spec.c: placeholder until the loader lands. */
#include "spec.h"
