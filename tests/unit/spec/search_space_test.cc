// The search_space section: every expression kind, inline forms, nested choices,
// name rules and the errors of each.
#include <algorithm>
#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/spec.h"

namespace sweep::spec {
namespace {

using core::ParamKind;
using core::ParamSpec;
using core::ParamValue;
using ::testing::HasSubstr;

// The search space starts at line 6, so its first parameter is on line 6.
std::string WithSpace(const std::string& space, const std::string& extra = "") {
  return "type: sweep\n"
         "trial: {command: train}\n"
         "compute: cpu-cluster\n"
         "objective: {primary_metric: accuracy, goal: maximize}\n"
         "search_space:\n" +
         space + extra;
}

absl::StatusOr<SweepSpec> Parse(const std::string& space, const std::string& extra = "") {
  return ParseSpec(WithSpace(space, extra), "spec.yml", "/tmp");
}

std::string Error(const std::string& space, const std::string& extra = "") {
  absl::StatusOr<SweepSpec> spec = Parse(space, extra);
  EXPECT_FALSE(spec.ok()) << "accepted:\n" << space;
  if (spec.ok()) return "";
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(spec.status().message());
}

TEST(SearchSpaceParseTest, EveryKindInMappingForm) {
  absl::StatusOr<SweepSpec> spec = Parse(
      "  a: {type: choice, values: [1, 2.5, '3', true, abc]}\n"
      "  b: {type: randint, upper: 10}\n"
      "  c: {type: uniform, min_value: -1, max_value: 2.5}\n"
      "  d: {type: quniform, min_value: 0, max_value: 100, q: 5}\n"
      "  e: {type: loguniform, min_value: -9, max_value: -1}\n"
      "  f: {type: qloguniform, min_value: 0, max_value: 5, q: 2}\n"
      "  g: {type: normal, mu: 10, sigma: 2}\n"
      "  h: {type: qnormal, mu: 0, sigma: 1, q: 0.5}\n"
      "  i: {type: lognormal, mu: 0, sigma: 0.25}\n"
      "  j: {type: qlognormal, mu: 1, sigma: 1, q: 1}\n"
      "  k: {type: Uniform, min_value: 0, max_value: 1}\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  const std::vector<ParamSpec>& p = spec->search_space.params;
  ASSERT_EQ(p.size(), 11u);
  EXPECT_EQ(p[0].kind, ParamKind::kChoice);
  ASSERT_EQ(p[0].options.size(), 5u);
  EXPECT_EQ(p[0].options[0].value, ParamValue(int64_t{1}));
  EXPECT_EQ(p[0].options[1].value, ParamValue(2.5));
  EXPECT_EQ(p[0].options[2].value, ParamValue(std::string("3")));  // quoted stays a string
  EXPECT_EQ(p[0].options[3].value, ParamValue(true));
  EXPECT_EQ(p[0].options[4].value, ParamValue(std::string("abc")));
  for (const core::ChoiceOption& o : p[0].options) EXPECT_FALSE(o.is_subspace);
  EXPECT_EQ(p[1].kind, ParamKind::kRandint);
  EXPECT_EQ(p[1].upper, 10);
  EXPECT_EQ(p[2].kind, ParamKind::kUniform);
  EXPECT_EQ(p[2].min_value, -1);
  EXPECT_EQ(p[2].max_value, 2.5);
  EXPECT_EQ(p[3].kind, ParamKind::kQUniform);
  EXPECT_EQ(p[3].q, 5);
  EXPECT_EQ(p[4].kind, ParamKind::kLogUniform);
  EXPECT_EQ(p[4].min_value, -9);
  EXPECT_EQ(p[5].kind, ParamKind::kQLogUniform);
  EXPECT_EQ(p[5].q, 2);
  EXPECT_EQ(p[6].kind, ParamKind::kNormal);
  EXPECT_EQ(p[6].mu, 10);
  EXPECT_EQ(p[6].sigma, 2);
  EXPECT_EQ(p[7].kind, ParamKind::kQNormal);
  EXPECT_EQ(p[7].q, 0.5);
  EXPECT_EQ(p[8].kind, ParamKind::kLogNormal);
  EXPECT_EQ(p[8].sigma, 0.25);
  EXPECT_EQ(p[9].kind, ParamKind::kQLogNormal);
  EXPECT_EQ(p[9].mu, 1);
  EXPECT_EQ(p[10].kind, ParamKind::kUniform);  // type names are case-insensitive
  EXPECT_EQ(p[0].name, "a");
  EXPECT_EQ(p[10].name, "k");
}

TEST(SearchSpaceParseTest, InlineForms) {
  absl::StatusOr<SweepSpec> spec = Parse(
      "  a: choice(1, 2, 3)\n"
      "  b: choice([x, 'y'])\n"
      "  c: randint(5)\n"
      "  d: uniform(0.1, 1)\n"
      "  e: quniform(0, 10, 2)\n"
      "  f: loguniform(-5, 0)\n"
      "  g: normal(0, 1)\n"
      "  h: qlognormal(1, 0.5, 4)\n"
      "  i: uniform(min_value=2, max_value=3)\n"
      "  j: 'qnormal(mu: 5, sigma: 1, q: 1)'\n"
      "  k: Choice('a b', \"c\")\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  const std::vector<ParamSpec>& p = spec->search_space.params;
  ASSERT_EQ(p.size(), 11u);
  ASSERT_EQ(p[0].options.size(), 3u);
  EXPECT_EQ(p[0].options[2].value, ParamValue(int64_t{3}));
  ASSERT_EQ(p[1].options.size(), 2u);
  EXPECT_EQ(p[1].options[1].value, ParamValue(std::string("y")));
  EXPECT_EQ(p[2].upper, 5);
  EXPECT_EQ(p[3].kind, ParamKind::kUniform);
  EXPECT_EQ(p[3].min_value, 0.1);
  EXPECT_EQ(p[3].max_value, 1);
  EXPECT_EQ(p[4].q, 2);
  EXPECT_EQ(p[5].kind, ParamKind::kLogUniform);
  EXPECT_EQ(p[6].sigma, 1);
  EXPECT_EQ(p[7].kind, ParamKind::kQLogNormal);
  EXPECT_EQ(p[7].q, 4);
  EXPECT_EQ(p[8].min_value, 2);
  EXPECT_EQ(p[8].max_value, 3);
  EXPECT_EQ(p[9].kind, ParamKind::kQNormal);
  EXPECT_EQ(p[9].mu, 5);
  EXPECT_EQ(p[10].options[0].value, ParamValue(std::string("a b")));
}

TEST(SearchSpaceParseTest, NestedChoicesTwoLevelsDeep) {
  absl::StatusOr<SweepSpec> spec = Parse(
      "  model:\n"
      "    type: choice\n"
      "    values:\n"
      "      - name: svm\n"
      "        C: {type: loguniform, min_value: -3, max_value: 3}\n"
      "        kernel:\n"
      "          type: choice\n"
      "          values:\n"
      "            - {kernel_name: rbf, gamma: 'uniform(0, 1)'}\n"
      "            - {kernel_name: poly, degree: {type: randint, upper: 5}}\n"
      "      - name: forest\n"
      "        C: {type: uniform, min_value: 0, max_value: 1}\n"
      "        trees: 100\n"
      "        bootstrap: true\n"
      "        ratio: 0.5\n"
      "  seed: {type: randint, upper: 3}\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  const std::vector<ParamSpec>& p = spec->search_space.params;
  ASSERT_EQ(p.size(), 2u);
  const ParamSpec& model = p[0];
  EXPECT_EQ(model.kind, ParamKind::kChoice);
  ASSERT_EQ(model.options.size(), 2u);
  const core::ChoiceOption& svm = model.options[0];
  EXPECT_TRUE(svm.is_subspace);
  EXPECT_EQ(svm.value, ParamValue(int64_t{0}));  // an option's value is its index
  ASSERT_EQ(svm.subspace.size(), 3u);
  EXPECT_EQ(svm.subspace[0].name, "name");
  EXPECT_EQ(svm.subspace[0].kind, ParamKind::kChoice);  // a constant: one-value choice
  ASSERT_EQ(svm.subspace[0].options.size(), 1u);
  EXPECT_EQ(svm.subspace[0].options[0].value, ParamValue(std::string("svm")));
  EXPECT_EQ(svm.subspace[1].name, "C");
  EXPECT_EQ(svm.subspace[1].kind, ParamKind::kLogUniform);
  const ParamSpec& kernel = svm.subspace[2];
  EXPECT_EQ(kernel.name, "kernel");
  ASSERT_EQ(kernel.options.size(), 2u);
  EXPECT_TRUE(kernel.options[1].is_subspace);
  EXPECT_EQ(kernel.options[1].value, ParamValue(int64_t{1}));
  ASSERT_EQ(kernel.options[1].subspace.size(), 2u);
  EXPECT_EQ(kernel.options[1].subspace[1].name, "degree");
  EXPECT_EQ(kernel.options[1].subspace[1].kind, ParamKind::kRandint);
  EXPECT_EQ(kernel.options[0].subspace[1].kind, ParamKind::kUniform);
  const core::ChoiceOption& forest = model.options[1];
  ASSERT_EQ(forest.subspace.size(), 5u);
  EXPECT_EQ(forest.subspace[1].name, "C");  // same name, different option: allowed
  EXPECT_EQ(forest.subspace[2].options[0].value, ParamValue(int64_t{100}));
  EXPECT_EQ(forest.subspace[3].options[0].value, ParamValue(true));
  EXPECT_EQ(forest.subspace[4].options[0].value, ParamValue(0.5));
  EXPECT_EQ(p[1].name, "seed");
}

TEST(SearchSpaceParseTest, EmptyOptionIsAllowed) {
  absl::StatusOr<SweepSpec> spec = Parse(
      "  reg:\n"
      "    type: choice\n"
      "    values: [{}, {alpha: 'uniform(0, 1)'}]\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->search_space.params[0].options[0].subspace.empty());
}

TEST(SearchSpaceParseTest, ExpressionErrors) {
  struct Case {
    std::string space;
    std::string expected;
  };
  std::vector<Case> cases = {
      {"  lr: 0.1\n",
       "spec.yml:6:7: search_space.lr: must be a parameter expression such as {type: choice, "
       "values: [...]} or 'uniform(0, 1)', got '0.1'"},
      {"  lr: [1, 2]\n",
       "spec.yml:6:7: search_space.lr: a list is not a parameter expression; write {type: "
       "choice, values: [...]}"},
      {"  lr:\n", "spec.yml:6:3: search_space.lr: needs a parameter expression"},
      {"  lr: {min_value: 0, max_value: 1}\n",
       "spec.yml:6:7: search_space.lr: missing required key 'type' (one of choice, randint"},
      {"  lr: {type: loguniforn, min_value: 0, max_value: 1}\n",
       "spec.yml:6:14: search_space.lr.type: unknown parameter type 'loguniforn' (did you mean "
       "'loguniform'?)"},
      {"  lr: unifrm(0, 1)\n",
       "spec.yml:6:7: search_space.lr: unknown parameter type 'unifrm' (did you mean "
       "'uniform'?)"},
      {"  lr: uniform(0)\n",
       "spec.yml:6:7: search_space.lr: missing required key 'max_value' (uniform takes "
       "min_value, max_value)"},
      {"  lr: uniform(0, 1\n", "spec.yml:6:7: search_space.lr: missing ')' in 'uniform(0, 1'"},
      {"  lr: uniform(a, 1)\n",
       "spec.yml:6:7: search_space.lr.min_value: must be a number, got the string 'a'"},
      {"  lr: uniform(0, [1)\n",
       "spec.yml:6:7: search_space.lr: cannot read the arguments of 'uniform(0, [1)'"},
      {"  lr: 'uniform(min_value=0, min_value=1)'\n",
       "spec.yml:6:7: search_space.lr: uniform: 'min_value' is given twice"},
      {"  n: choice()\n", "spec.yml:6:6: search_space.n.values: must list at least one value"},
      {"  n: {type: randint, upper: 2.5}\n",
       "spec.yml:6:29: search_space.n.upper: must be an integer, got 2.5"},
      {"  n: {type: randint, upper: -3}\n",
       "spec.yml:6:29: search_space.n.upper: must be at least 1"},
      {"  n: {type: randint}\n", "spec.yml:6:6: search_space.n: missing required key 'upper'"},
      {"  n: {type: choice, values: 3}\n",
       "spec.yml:6:29: search_space.n.values: must be a list of values, e.g. [1, 2, 3], got '3'"},
      {"  n: {type: choice, values: [1, null]}\n",
       "spec.yml:6:33: search_space.n.values[1]: null is not a valid choice value"},
      {"  n: {type: choice, values: [1, [2, 3]]}\n",
       "spec.yml:6:33: search_space.n.values[1]: a choice value cannot be a list"},
      {"  n: {type: choice, values: [1, .inf]}\n",
       "spec.yml:6:33: search_space.n.values[1]: must be a finite number, got .inf"},
      {"  n: {type: choice, values: [a, b, a]}\n",
       "spec.yml:6:36: search_space.n.values[2]: duplicate value 'a' (also "
       "search_space.n.values[0])"},
      {"  n: {type: normal, mu: 0, sigma: 0}\n",
       "spec.yml:6:35: search_space.n.sigma: must be greater than 0, got 0"},
      {"  n: {type: normal, mu: .inf, sigma: 1}\n",
       "spec.yml:6:25: search_space.n.mu: must be a finite number, got .inf"},
      {"  n: {type: normal, mu: 0, sigma: 1, min_value: 0}\n",
       "spec.yml:6:38: search_space.n: unknown key 'min_value' for normal; normal takes mu, "
       "sigma"},
      {"  n: {type: uniform, min_value: true, max_value: 1}\n",
       "spec.yml:6:33: search_space.n.min_value: must be a number, got true"},
      {"  n: {type: uniform, min_value: 0, max_value: 1, type: normal}\n",
       "spec.yml:6:50: search_space.n.type: duplicate key (first given at line 6)"},
      {"  2fast: {type: randint, upper: 3}\n",
       "spec.yml:6:3: search_space.2fast: invalid parameter name '2fast'"},
      {"  n: {type: qloguniform, min_value: 0, max_value: 1, q: -1}\n",
       "spec.yml:6:57: search_space.n.q: must be greater than 0 (the quantization step), got -1"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.space);
    EXPECT_THAT(Error(c.space), HasSubstr(c.expected));
  }
}

TEST(SearchSpaceParseTest, DuplicateNames) {
  // Two choices, each with an option defining C: both can be active at once.
  EXPECT_THAT(Error("  a: {type: choice, values: [{C: 'uniform(0, 1)'}, {D: randint(2)}]}\n"
                    "  b: {type: choice, values: [{C: 'uniform(0, 1)'}]}\n"),
              HasSubstr("spec.yml:7:31: search_space.b.values[0].C: duplicate parameter name "
                        "'C' (already defined at search_space.a.values[0].C, line 6)"));
  // An option cannot redefine the choice it belongs to.
  EXPECT_THAT(Error("  m: {type: choice, values: [{m: 1}, {x: 2}]}\n"),
              HasSubstr("spec.yml:6:31: search_space.m.values[0].m: duplicate parameter name "
                        "'m': it is the choice this option belongs to (search_space.m)"));
  // A nested name may not repeat one of an enclosing level, however deep.
  EXPECT_THAT(Error("  top: randint(3)\n"
                    "  m:\n"
                    "    type: choice\n"
                    "    values:\n"
                    "      - k:\n"
                    "          type: choice\n"
                    "          values: [{top: 1}]\n"),
              HasSubstr("spec.yml:12:21: search_space.m.values[0].k.values[0].top: duplicate "
                        "parameter name 'top' (already defined at search_space.top, line 6)"));
  // Within one option, a repeated key is a YAML duplicate.
  EXPECT_THAT(Error("  m: {type: choice, values: [{x: 1, x: 2}]}\n"),
              HasSubstr("spec.yml:6:37: search_space.m.values[0].x: duplicate key"));
}

TEST(SearchSpaceParseTest, NestedErrors) {
  EXPECT_THAT(Error("  m: {type: choice, values: [{x: 1}, svm]}\n"),
              HasSubstr("spec.yml:6:29: search_space.m.values: cannot mix plain values and "
                        "nested search spaces"));
  EXPECT_THAT(Error("  m: {type: choice, values: [{x: {min_value: 1}}]}\n"),
              HasSubstr("spec.yml:6:34: search_space.m.values[0].x: missing required key 'type'"));
  EXPECT_THAT(Error("  m: {type: choice, values: [{x: .nan}]}\n"),
              HasSubstr("spec.yml:6:34: search_space.m.values[0].x: must be a finite number, "
                        "got .nan"));
  EXPECT_THAT(Error("  m: {type: choice, values: [{x: }]}\n"),
              HasSubstr("search_space.m.values[0].x: needs a value: a constant or a parameter "
                        "expression"));
  std::string deep = "  m0:\n";
  std::string indent = "    ";
  for (int level = 1; level <= 10; ++level) {
    deep += indent + "type: choice\n" + indent + "values:\n" + indent + "  - m" +
            std::to_string(level) + ":\n";
    indent += "      ";
  }
  deep += indent + "type: randint\n" + indent + "upper: 2\n";
  EXPECT_THAT(Error(deep), HasSubstr("nested search spaces may be at most 8 levels deep"));
}

TEST(SearchSpaceParseTest, InlineExpressionCutAtAComma) {
  // Unquoted inside {...}, YAML reads `gamma: uniform(0` and a key `1)`.
  std::string message = Error("  m: {type: choice, values: [{gamma: uniform(0, 1)}]}\n");
  EXPECT_EQ(message,
            "spec.yml:6:38: search_space.m.values[0].gamma: the expression 'uniform(0...' was "
            "cut at a comma: inside {...} or [...] YAML splits at commas, so quote it, e.g. "
            "'uniform(0, 1)'");
}

TEST(SearchSpaceParseTest, SectionErrors) {
  EXPECT_THAT(ParseSpec("type: sweep\ntrial: {command: x}\ncompute: cpu-cluster\n"
                        "objective: {primary_metric: a, goal: minimize}\nsearch_space: [a]\n",
                        "spec.yml", "/tmp")
                  .status()
                  .message(),
              HasSubstr("spec.yml:5:15: search_space: must be a mapping of parameter names to "
                        "expressions, got a list"));
  EXPECT_THAT(ParseSpec("type: sweep\ntrial: {command: x}\ncompute: cpu-cluster\n"
                        "objective: {primary_metric: a, goal: minimize}\nsearch_space:\n",
                        "spec.yml", "/tmp")
                  .status()
                  .message(),
              HasSubstr("spec.yml:5:1: search_space: must be a mapping of parameter names to "
                        "expressions, got nothing"));
}

TEST(SearchSpaceParseTest, ErrorsOfSeveralParametersAreAllReported) {
  std::string message = Error(
      "  a: {type: uniform, min_value: 2, max_value: 1}\n"
      "  b: {type: randint, upper: 0}\n"
      "  c: {type: quniform, min_value: 0, max_value: 1, q: 0}\n");
  EXPECT_THAT(message, HasSubstr("spec.yml:6:47: search_space.a.max_value"));
  EXPECT_THAT(message, HasSubstr("\nspec.yml:7:29: search_space.b.upper"));
  EXPECT_THAT(message, HasSubstr("\nspec.yml:8:54: search_space.c.q"));
}

TEST(SearchSpaceParseTest, AliasBombStaysCheap) {
  // Each level doubles the number of parameters reached through aliases.
  std::string text = "  p0: &a0 {type: choice, values: [{x0: 1}, {y0: 2}]}\n";
  for (int i = 1; i < 40; ++i) {
    text += "  p" + std::to_string(i) + ": &a" + std::to_string(i) +
            " {type: choice, values: [{q: *a" + std::to_string(i - 1) + "}, {r: *a" +
            std::to_string(i - 1) + "}]}\n";
  }
  std::string message = Error(text);
  EXPECT_THAT(message, HasSubstr("duplicate parameter name 'x0'"));
  // The report stops at 100 errors plus a count of the rest.
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 100);
  std::string last_line = message.substr(message.rfind('\n') + 1);
  EXPECT_THAT(last_line, ::testing::StartsWith("... and "));
  EXPECT_THAT(last_line, ::testing::EndsWith(" more errors"));
}

TEST(SearchSpaceParseTest, NestingDepthIsLimited) {
  std::string text = "  p0: &a0 {type: choice, values: [{x: 1}]}\n";
  for (int i = 1; i <= 9; ++i) {
    text += "  p" + std::to_string(i) + ": &a" + std::to_string(i) + " {type: choice, values: [{n" +
            std::to_string(i) + ": *a" + std::to_string(i - 1) + "}]}\n";
  }
  // Positions of aliased nodes are those of their anchors (p0's option, line 6).
  EXPECT_THAT(Error(text), HasSubstr("spec.yml:6:35: search_space.p8.values[0].n8.values[0]."
                                     "n7.values[0].n6.values[0].n5.values[0].n4.values[0].n3."
                                     "values[0].n2.values[0].n1.values[0]: nested search spaces "
                                     "may be at most 8 levels deep"));
}

}  // namespace
}  // namespace sweep::spec
