// Zennit 0.5.1's rules for linear layers (LinearRule::kZennit), over the column form of
// linear_rules.h. Padding-aware rules read `ones` (the column form of an all-ones input:
// 0 at padding) and ZBox its bounds `low`/`high` in column form (0 at padding).
#pragma once
#include "engine/relevance/linear_rules.h"

namespace caffe_lrp {

void ApplyZennitRule(const LayerRule& rule, const LinearProblem& lp);
// Does the rule read lp.ones (Flat, WSquare) / lp.low and lp.high (ZBox)?
bool ZennitNeedsOnes(const LayerRule& rule);
bool ZennitNeedsBounds(const LayerRule& rule);

}  // namespace caffe_lrp
