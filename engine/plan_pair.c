/*
 * engine/plan_pair.c
 *   spec, connector -> PLAN: which pairs of column types compare, as what
 *   canonical class (plan_pair), and the exact refusal with its reason and
 *   hint for those that cannot. Pure; plan.c builds the plan with it.
 */
#include "plan_int.h"

#include <string.h>

#include "jcanon.h"

/* ---- type pairing ----------------------------------------------------- */

/*
 * The class a type compares as on its own, or -1 when it has none across
 * engines (interval, arrays, types tally does not know): those compare
 * only between identical types of one engine, by the server's text, or
 * through an `as:` option.
 */
int plan_class_of(const struct coldesc *c)
{
	switch (c->type) {
	case LT_INT:
	case LT_DECIMAL:
	case LT_YEAR:
		return CC_NUMBER;
	case LT_FLOAT: return c->bits == 32 ? CC_FLOAT32 : CC_FLOAT64;
	case LT_BOOL: return CC_BOOL;
	case LT_TEXT:
	case LT_CHAR:
	case LT_ENUM:
	case LT_SET:
		return CC_TEXT;
	case LT_BYTES: return CC_BYTES;
	case LT_DATE: return CC_DATE;
	case LT_TIME: return CC_TIME;
	case LT_TIMESTAMP: return CC_TIMESTAMP;
	case LT_TIMESTAMPTZ: return CC_TIMESTAMPTZ;
	case LT_UUID: return CC_UUID;
	case LT_JSON: return CC_JSON;
	case LT_INET: return CC_INET;
	case LT_BIT: return CC_BITS;
	case LT_INTERVAL:
	case LT_ARRAY:
	case LT_OTHER:
		break;
	}
	return -1;
}

static bool is_float(int cls)
{
	return cls == CC_FLOAT32 || cls == CC_FLOAT64;
}

/* Text a value of another class can be parsed from: not enum or set labels. */
static bool plain_text(const struct coldesc *c)
{
	return c->type == LT_TEXT || c->type == LT_CHAR;
}

/* MariaDB's BINARY(16), the usual storage of a uuid as its bytes. */
static bool binary16(const struct coldesc *c)
{
	return c->type == LT_BYTES && c->fixed && c->length == 16;
}

/* The element kind of a PostgreSQL array, from its type's name ("integer[]"). */
static enum pgarray_elem array_elem(const char *native)
{
	static const char *const numbers[] = { "smallint[", "integer[", "bigint[", "numeric", "real[",
	                                       "double precision[" };
	static const char *const jsons[] = { "json[", "jsonb[" };

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++)
		if (strncmp(native, numbers[i], strlen(numbers[i])) == 0)
			return PGARRAY_NUMBER;
	if (strncmp(native, "boolean[", 8) == 0)
		return PGARRAY_BOOL;
	for (size_t i = 0; i < sizeof(jsons) / sizeof(jsons[0]); i++)
		if (strncmp(native, jsons[i], strlen(jsons[i])) == 0)
			return PGARRAY_JSON;
	return PGARRAY_TEXT;
}

/* How one side reads as cls: the engine's ways of sending a type. */
struct canon_col plan_side_col(enum cclass cls, const struct coldesc *c)
{
	struct canon_col cc = canon_col_make(cls, c->type);

	cc.pad_trim = cls == CC_TEXT && c->type == LT_CHAR;
	if (c->type == LT_BIT && c->raw_bits) {
		cc.raw_bits = true;
		cc.bits = c->bits;
	}
	if (c->type == LT_ARRAY)
		cc.arr_elem = (int)array_elem(c->native ? c->native : "");
	return cc;
}

static void set_pair(struct canon_col out[2], enum cclass cls, const struct coldesc *s,
                     const struct coldesc *t)
{
	out[0] = plan_side_col(cls, s);
	out[1] = plan_side_col(cls, t);
}

static int refuse(struct tally_err *err, const struct coldesc *s, const struct coldesc *t,
                  bool as_key)
{
	err_set(err, ERR_SCHEMA, "%s cannot be compared: %s in source (%s) and %s in target (%s)",
	        as_key ? "key column" : "column", ltype_name(s->type), s->native,
	        ltype_name(t->type), t->native);
	return -1;
}

/* Is one side of the pair of type t (or class c)? */
#define EITHER_TYPE(t) (s->type == (t) || tt->type == (t))
#define EITHER_CLASS(c) (cs == (c) || ct == (c))

/* Why a pair of classes cannot be compared, and what would make it so. */
static int explain(struct tally_err *err, const struct coldesc *s, const struct coldesc *tt, int cs, int ct,
                   bool as_key)
{
	if (as_key && (is_float(cs) || is_float(ct)))
		return err_detail(err, "floating-point values are not exact enough to identify rows");
	if (as_key && EITHER_CLASS(CC_JSON))
		return err_detail(err, "JSON documents do not identify rows");
	if (as_key && EITHER_CLASS(CC_DATE) && EITHER_CLASS(CC_TIMESTAMP))
		return err_detail(err, "a date and a timestamp are equal at midnight, but they do not identify rows "
		                  "alike: compare them as columns, not keys");
	if (as_key && cs >= 0 && ct >= 0 && cs != ct)
		return err_detail(err, "keys are merged in one order on both sides, and these types do not sort alike");
	if (EITHER_TYPE(LT_INTERVAL))
		return err_detail(err, "an interval has months, days and microseconds, which %s does not hold; "
		                  "compare through a query that converts it (EXTRACT(EPOCH FROM col))",
		                  ltype_name(s->type == LT_INTERVAL ? tt->type : s->type));
	if (EITHER_TYPE(LT_ARRAY)) {
		err_detail(err, "an array compares with another engine's value only as JSON or as text");
		return err_hint(err, "add `as: json` to the column to compare it with a JSON array, "
		                "or `as: text` to compare the server's text");
	}
	if (EITHER_CLASS(CC_JSON) && EITHER_CLASS(CC_TEXT)) {
		err_detail(err, "text is not JSON until it is parsed");
		return err_hint(err, "add `as: json` to compare the text as a JSON document, "
		                "or `as: text` to compare the exact text");
	}
	if ((EITHER_CLASS(CC_TIMESTAMP) || EITHER_CLASS(CC_DATE)) && EITHER_CLASS(CC_TIMESTAMPTZ)) {
		err_detail(err, "a %s without time zone is not an instant, so it cannot equal one",
		           EITHER_CLASS(CC_DATE) ? "date" : "timestamp");
		return err_hint(err, "say in which zone the %s side's values are local time: the column option "
		                "`timezone: Europe/Berlin`, or `timezone: Europe/Berlin` on its system "
		                "(systems.NAME.timezone) for every check", cs == CC_TIMESTAMPTZ ? "target" : "source");
	}
	if (cs == CC_BITS && ct == CC_BITS)
		return err_detail(err, "bit strings of %d and %d bits cannot be equal", s->bits, tt->bits);
	if ((is_float(cs) || is_float(ct)) && EITHER_CLASS(CC_NUMBER)) {
		err_detail(err, "a binary floating-point value is not the decimal it is printed as");
		return err_hint(err, "round both sides to the digits that matter with `scale: N` on the column, "
		                "or compare through a query that casts one side");
	}
	if (EITHER_CLASS(CC_UUID)) {
		err_detail(err, "a uuid compares with text, binary(16) or a uuid");
		return err_hint(err, "add `as: uuid` to read 16-byte binary values as uuids");
	}
	if (EITHER_CLASS(CC_NUMBER) && EITHER_CLASS(CC_TEXT))
		return err_hint(err, "a migration that renamed value codes can say how: "
		                "`map: {1: active, 2: closed}`");
	if (cs < 0 && ct < 0 && s->type == tt->type)
		return err_detail(err, "%s values are compared only between identical types of one engine",
		                  ltype_name(s->type));
	if (cs < 0 || ct < 0)
		return err_detail(err, "tally has no exact comparison between these types");
	if (as_key)
		return err_detail(err, "keys are merged in one order on both sides, and these types do not sort alike");
	return err_detail(err, "values of these types cannot be equal by meaning");
}

#undef EITHER_TYPE
#undef EITHER_CLASS

/*
 * The pairs, by each side's class:
 *   number with number (any integer, decimal, year);
 *   float32 or float64 with either: float32 when one side is single precision;
 *   boolean with boolean, any integer (MariaDB's BOOLEAN is tinyint(1)) and
 *     a one-bit bit string;
 *   text (text, varchar, char(n) without its padding, enum, set) with text;
 *   uuid with uuid, with text (parsed: case and dashes do not count) and
 *     with binary(16) (its 16 bytes);
 *   inet with inet, and with text (parsed);
 *   json with json; bits with bits of the same width (or a varying one);
 *   binary, date, time, timestamp, timestamptz each with itself.
 * Identical types of one engine without a class (interval, arrays...)
 * compare by the server's text. Everything else is refused.
 */
int plan_pair(const struct coldesc *s, const struct coldesc *t,
              const char *sdriver, const char *tdriver, bool as_key,
              struct canon_col out[2], struct tally_err *err)
{
	int cs = plan_class_of(s), ct = plan_class_of(t);
	bool same_engine = strcmp(sdriver, tdriver) == 0;
	int cls = -1;

	if ((cs == CC_BOOL && (ct == CC_BOOL || t->type == LT_INT || (ct == CC_BITS && t->bits == 1))) ||
	    (ct == CC_BOOL && (s->type == LT_INT || (cs == CC_BITS && s->bits == 1))))
		cls = CC_BOOL;
	else if (cs >= 0 && cs == ct && cs != CC_BITS)
		cls = cs;
	else if (is_float(cs) && is_float(ct))
		cls = CC_FLOAT32;
	else if ((cs == CC_UUID && (ct == CC_UUID || plain_text(t) || binary16(t))) ||
	         (ct == CC_UUID && (plain_text(s) || binary16(s))))
		cls = CC_UUID;
	else if ((cs == CC_INET && plain_text(t)) || (ct == CC_INET && plain_text(s)))
		cls = CC_INET;
	else if (!as_key && ((cs == CC_DATE && ct == CC_TIMESTAMP) || (cs == CC_TIMESTAMP && ct == CC_DATE)))
		cls = CC_TIMESTAMP;     /* a date is its day at 00:00:00, as PostgreSQL compares them */
	else if (cs == CC_BITS && ct == CC_BITS &&
	         (s->bits == t->bits || s->bits_varying || t->bits_varying))
		cls = CC_BITS;

	if (cls >= 0 && as_key && (is_float(cls) || cls == CC_JSON)) {
		refuse(err, s, t, as_key);
		return explain(err, s, t, cs, ct, as_key);
	}
	if (cls >= 0) {
		set_pair(out, (enum cclass)cls, s, t);
		return 0;
	}
	/* One engine prints one type one way: exact text comparison is sound. */
	if ((cs < 0 || ct < 0) && same_engine && s->type == t->type && strcmp(s->native, t->native) == 0 &&
	    !as_key) {
		set_pair(out, CC_TEXT, s, t);
		out[0].pad_trim = out[1].pad_trim = false;
		return 0;
	}
	refuse(err, s, t, as_key);
	return explain(err, s, t, cs, ct, as_key);
}
