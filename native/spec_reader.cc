#include "spec_reader.h"

#include <cmath>
#include <string>

namespace caffe_lrp {
namespace {

Napi::Value Field(const Napi::Object& o, const char* key, const std::string& where) {
  if (!o.Has(key)) throw EngineError(where + ": missing '" + key + "'");
  return o.Get(key);
}

std::string StringField(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = Field(o, key, where);
  if (!v.IsString()) throw EngineError(where + ": '" + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::vector<std::string> StringList(const Napi::Object& o, const char* key, const std::string& where) {
  Napi::Value v = Field(o, key, where);
  if (!v.IsArray()) throw EngineError(where + ": '" + key + "' must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) throw EngineError(where + ": '" + key + "' must be an array of strings");
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return out;
}

double FiniteNumber(const Napi::Value& v, const std::string& what) {
  if (!v.IsNumber()) throw EngineError(what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw EngineError(what + " must be finite");
  return d;
}

int64_t Integer(const Napi::Value& v, const std::string& what, int64_t lo, int64_t hi) {
  double d = FiniteNumber(v, what);
  if (d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi))
    throw EngineError(what + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

Shape ReadShape(const Napi::Value& v, const std::string& what) {
  if (!v.IsArray()) throw EngineError(what + " must be an array of dimensions");
  Napi::Array a = v.As<Napi::Array>();
  Shape s;
  for (uint32_t i = 0; i < a.Length(); ++i) s.push_back(Integer(a.Get(i), what + "[" + std::to_string(i) + "]", 1, kMaxBlobElements));
  return s;
}

ParamValue ReadParam(const Napi::Value& v, bool* ok) {
  ParamValue p;
  *ok = true;
  if (v.IsNumber()) {
    p.kind = ParamValue::Kind::kNumber;
    p.number = v.As<Napi::Number>().DoubleValue();
  } else if (v.IsBoolean()) {
    p.kind = ParamValue::Kind::kBool;
    p.boolean = v.As<Napi::Boolean>().Value();
  } else if (v.IsString()) {
    p.kind = ParamValue::Kind::kString;
    p.text = v.As<Napi::String>().Utf8Value();
  } else if (v.IsArray()) {
    Napi::Array a = v.As<Napi::Array>();
    p.kind = ParamValue::Kind::kNumberList;
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value e = a.Get(i);
      if (!e.IsNumber()) { *ok = false; return p; }
      p.list.push_back(e.As<Napi::Number>().DoubleValue());
    }
  } else {
    *ok = false;  // nested raw messages of unsupported layers: the engine names the type instead
  }
  return p;
}

// Arrays below this many values are copied even when borrowing is allowed: copying them
// costs nothing, and small typed arrays may live on V8's heap before their first use here.
constexpr size_t kBorrowMinValues = 4096;

WeightBlob ReadWeight(const Napi::Value& v, const std::string& where, BorrowedArrays* borrowed) {
  if (!v.IsObject()) throw EngineError(where + " must be an object {shape, data}");
  Napi::Object o = v.As<Napi::Object>();
  WeightBlob w;
  w.shape = ReadShape(Field(o, "shape", where), where + ".shape");
  Napi::Value d = Field(o, "data", where);
  if (!d.IsTypedArray() || d.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw EngineError(where + ".data must be a Float32Array");
  Napi::Float32Array f = d.As<Napi::Float32Array>();
  if (static_cast<int64_t>(f.ElementLength()) != Count(w.shape))
    throw EngineError(where + ": " + std::to_string(f.ElementLength()) + " values for shape " + ShapeString(w.shape));
  if (borrowed && f.ElementLength() >= kBorrowMinValues) {
    borrowed->push_back(Napi::Persistent(f));
    w.data = WeightData::Borrowed(f.Data(), f.ElementLength());
  } else {
    w.data = WeightData(std::vector<float>(f.Data(), f.Data() + f.ElementLength()));
  }
  return w;
}

LayerDef ReadLayer(const Napi::Value& v, uint32_t index, BorrowedArrays* borrowed) {
  std::string where = "layer #" + std::to_string(index);
  if (!v.IsObject()) throw EngineError(where + " must be an object");
  Napi::Object o = v.As<Napi::Object>();
  LayerDef def;
  def.name = StringField(o, "name", where);
  def.type = StringField(o, "type", where);
  where = def.Where();
  def.bottoms = StringList(o, "bottoms", where);
  def.tops = StringList(o, "tops", where);
  if (o.Has("params") && o.Get("params").IsObject()) {
    Napi::Object params = o.Get("params").As<Napi::Object>();
    Napi::Array keys = params.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
      bool ok = false;
      ParamValue p = ReadParam(params.Get(key), &ok);
      if (ok) def.params[key] = p;
    }
  }
  if (o.Has("blobs")) {
    Napi::Value bv = o.Get("blobs");
    if (!bv.IsArray()) throw EngineError(where + ": 'blobs' must be an array");
    Napi::Array blobs = bv.As<Napi::Array>();
    for (uint32_t i = 0; i < blobs.Length(); ++i) def.blobs.push_back(ReadWeight(blobs.Get(i), where + " blob " + std::to_string(i), borrowed));
  }
  return def;
}

template <typename E>
E Choice(const Napi::Object& o, const char* key, E fallback, std::initializer_list<std::pair<const char*, E>> options,
         const std::string& where) {
  if (!o.Has(key) || o.Get(key).IsUndefined()) return fallback;
  Napi::Value v = o.Get(key);
  std::string allowed;
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    for (const auto& opt : options)
      if (s == opt.first) return opt.second;
  }
  for (const auto& opt : options) allowed += (allowed.empty() ? "" : ", ") + std::string(opt.first);
  throw EngineError(where + ": '" + key + "' must be one of " + allowed);
}

LayerRule ReadRule(const Napi::Value& v, int index) {
  const std::string where = "rule for layer " + std::to_string(index);
  LayerRule r;
  if (v.IsUndefined() || v.IsNull()) return r;
  if (!v.IsObject()) throw EngineError(where + " must be an object");
  Napi::Object o = v.As<Napi::Object>();
  r.linear = Choice(o, "linear", LinearRule::kEpsilon,
                    {{"epsilon", LinearRule::kEpsilon}, {"alphabeta", LinearRule::kAlphaBeta}, {"flat", LinearRule::kFlat},
                     {"wsquare", LinearRule::kWSquare}, {"transpose", LinearRule::kTranspose}, {"zennit", LinearRule::kZennit}},
                    where);
  r.pool = Choice(o, "pool", PoolRule::kWinnerTakeAll,
                  {{"wta", PoolRule::kWinnerTakeAll}, {"proportional", PoolRule::kProportional},
                   {"wta-ties", PoolRule::kWinnerTakeAllTies}, {"flat", PoolRule::kFlat},
                   {"epsilon", PoolRule::kEpsilon}, {"alphabeta", PoolRule::kAlphaBeta}},
                  where);
  r.stabilizer = Choice(o, "stabilizer", Stabilizer::kCaffe, {{"caffe", Stabilizer::kCaffe}, {"toolbox", Stabilizer::kToolbox}}, where);
  r.lrn = Choice(o, "lrn", LrnRule::kIdentity, {{"identity", LrnRule::kIdentity}, {"taylor", LrnRule::kTaylor}}, where);
  r.relu = Choice(o, "relu", ReluRule::kIdentity,
                  {{"identity", ReluRule::kIdentity}, {"rectify", ReluRule::kRectify}, {"guided", ReluRule::kGuided}}, where);
  if (o.Has("epsilon")) r.epsilon = static_cast<float>(FiniteNumber(o.Get("epsilon"), where + ".epsilon"));
  if (o.Has("beta")) r.beta = static_cast<float>(FiniteNumber(o.Get("beta"), where + ".beta"));
  if (o.Has("alpha") && !o.Get("alpha").IsUndefined()) {
    r.has_alpha = true;
    r.alpha = static_cast<float>(FiniteNumber(o.Get("alpha"), where + ".alpha"));
  }
  if (r.beta < 0 && !r.has_alpha) throw EngineError(where + ": beta must be >= 0 (alpha = 1 + beta unless alpha is given)");
  if (o.Has("biasTreatment")) r.bias_treatment = static_cast<int>(Integer(o.Get("biasTreatment"), where + ".biasTreatment", 0, 1));
  if (o.Has("compatGroupBias")) r.compat_group_bias = o.Get("compatGroupBias").ToBoolean().Value();
  if (o.Has("flatOverDepth")) r.flat_over_depth = o.Get("flatOverDepth").ToBoolean().Value();
  r.zennit = Choice(o, "zennit", ZennitRule::kEpsilon,
                    {{"epsilon", ZennitRule::kEpsilon}, {"alphabeta", ZennitRule::kAlphaBeta}, {"gamma", ZennitRule::kGamma},
                     {"zbox", ZennitRule::kZBox}, {"flat", ZennitRule::kFlat}, {"wsquare", ZennitRule::kWSquare}},
                    where);
  if (o.Has("zennitStabilizer")) r.zennit_stabilizer = static_cast<float>(FiniteNumber(o.Get("zennitStabilizer"), where + ".zennitStabilizer"));
  if (o.Has("gamma")) r.gamma = static_cast<float>(FiniteNumber(o.Get("gamma"), where + ".gamma"));
  for (const char* bound : {"low", "high"}) {
    if (!o.Has(bound)) continue;
    const Napi::Value v = o.Get(bound);
    if (!v.IsArray()) throw EngineError(where + "." + bound + " must be an array of numbers");
    const Napi::Array a = v.As<Napi::Array>();
    if (a.Length() < 1 || a.Length() > 4096) throw EngineError(where + "." + bound + " must have 1 to 4096 values");
    std::vector<float>& out = bound[0] == 'l' ? r.low : r.high;
    for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(static_cast<float>(FiniteNumber(a.Get(i), where + "." + bound)));
  }
  if (r.linear == LinearRule::kZennit && r.zennit == ZennitRule::kZBox && (r.low.empty() || r.high.empty()))
    throw EngineError(where + ": the zennit ZBox rule needs 'low' and 'high'");
  if (o.Has("gradient")) r.gradient = o.Get("gradient").ToBoolean().Value();
  if (o.Has("compatSumPoolBeta")) r.compat_sum_pool_beta = o.Get("compatSumPoolBeta").ToBoolean().Value();
  return r;
}

}  // namespace

void ReadNetSpec(const Napi::Object& spec, std::vector<InputDef>* inputs, std::vector<LayerDef>* layers, BorrowedArrays* borrowed) {
  Napi::Value in = Field(spec, "inputs", "net spec");
  if (!in.IsArray()) throw EngineError("net spec: 'inputs' must be an array");
  Napi::Array ia = in.As<Napi::Array>();
  for (uint32_t i = 0; i < ia.Length(); ++i) {
    if (!ia.Get(i).IsObject()) throw EngineError("net spec: input #" + std::to_string(i) + " must be an object");
    Napi::Object o = ia.Get(i).As<Napi::Object>();
    const std::string where = "input #" + std::to_string(i);
    InputDef d;
    d.name = StringField(o, "name", where);
    d.shape = ReadShape(Field(o, "shape", where), "input '" + d.name + "' shape");
    inputs->push_back(d);
  }
  Napi::Value lv = Field(spec, "layers", "net spec");
  if (!lv.IsArray()) throw EngineError("net spec: 'layers' must be an array");
  Napi::Array la = lv.As<Napi::Array>();
  for (uint32_t i = 0; i < la.Length(); ++i) layers->push_back(ReadLayer(la.Get(i), i, borrowed));
}

BackwardRequest ReadBackwardRequest(const Napi::Object& o, int num_layers) {
  BackwardRequest r;
  r.start = static_cast<int>(Integer(Field(o, "start", "backward options"), "start layer index", 0, num_layers - 1));
  r.end = static_cast<int>(Integer(Field(o, "end", "backward options"), "first layer index", 0, num_layers - 1));
  r.gradient = o.Has("gradient") && o.Get("gradient").ToBoolean().Value();
  r.conservation = o.Has("conservation") && o.Get("conservation").ToBoolean().Value();
  if (!r.gradient) {
    Napi::Value rv = Field(o, "rules", "backward options");
    if (!rv.IsArray()) throw EngineError("backward options: 'rules' must be an array with one rule per layer");
    Napi::Array ra = rv.As<Napi::Array>();
    if (ra.Length() != static_cast<uint32_t>(num_layers))
      throw EngineError("backward options: 'rules' has " + std::to_string(ra.Length()) + " entries for " + std::to_string(num_layers) + " layers");
    for (uint32_t i = 0; i < ra.Length(); ++i) r.rules.push_back(ReadRule(ra.Get(i), static_cast<int>(i)));
  }
  Napi::Value cv = Field(o, "classes", "backward options");
  if (!cv.IsArray()) throw EngineError("backward options: 'classes' must be an array (one list per image)");
  Napi::Array ca = cv.As<Napi::Array>();
  for (uint32_t n = 0; n < ca.Length(); ++n) {
    Napi::Value lst = ca.Get(n);
    if (!lst.IsArray()) throw EngineError("classes for image " + std::to_string(n) + " must be an array of indices");
    Napi::Array a = lst.As<Napi::Array>();
    std::vector<int64_t> cls;
    for (uint32_t k = 0; k < a.Length(); ++k) cls.push_back(Integer(a.Get(k), "class index", 0, kMaxBlobElements));
    r.seeds.classes.push_back(cls);
  }
  if (o.Has("values") && !o.Get("values").IsUndefined()) {
    Napi::Value vv = o.Get("values");
    if (!vv.IsArray()) throw EngineError("backward options: 'values' must be an array (one list per image)");
    Napi::Array va = vv.As<Napi::Array>();
    for (uint32_t n = 0; n < va.Length(); ++n) {
      std::vector<float> vals;
      Napi::Value lst = va.Get(n);
      if (lst.IsArray()) {
        Napi::Array a = lst.As<Napi::Array>();
        for (uint32_t k = 0; k < a.Length(); ++k) vals.push_back(static_cast<float>(FiniteNumber(a.Get(k), "seed value")));
      } else if (!lst.IsUndefined() && !lst.IsNull()) {
        throw EngineError("seed values for image " + std::to_string(n) + " must be an array");
      }
      r.seeds.values.push_back(vals);
    }
  }
  return r;
}

}  // namespace caffe_lrp
