// Adam/AdamW and SGD updates, in place: several outputs of one draw (parameter and slots); the runtime
// renders into fresh textures that then take the arrays' ids.

//# kernel adam 3 p,g,m,v alpha,beta1,beta2,epsilon,decay,l2
// Keras 3's Adam: bias correction folded into alpha; AdamW (decay = weight_decay * lr) decays first,
// plain L2 (l2 = weight_decay) adds to the gradient.
uniform float alpha, beta1, beta2, epsilon, decay, l2;
void compute(int i, inout float r[3]) {
  float pv = at(p, i);
  float gv = at(g, i) + l2 * pv;
  pv -= pv * decay;
  float mv = at(m, i);
  float vv = at(v, i);
  mv += (gv - mv) * (1.0 - beta1);
  vv += (gv * gv - vv) * (1.0 - beta2);
  r[0] = pv - alpha * mv / (sqrt(vv) + epsilon);
  r[1] = mv;
  r[2] = vv;
}

//# kernel sgd 2 p,g,v lr,momentum,nesterov,decay
// Keras 3's SGD: velocity = momentum * velocity - lr * g; weight decay (decay = weight_decay * lr) decoupled.
uniform float lr, momentum, decay;
uniform int nesterov;
void compute(int i, inout float r[2]) {
  float pv = at(p, i);
  float gv = at(g, i);
  float vel = at(v, i);
  pv -= pv * decay;
  if (momentum != 0.0) {
    vel = vel * momentum - lr * gv;
    pv += nesterov == 1 ? momentum * vel - lr * gv : vel;
  } else {
    pv -= lr * gv;
  }
  r[0] = pv;
  r[1] = vel;
}
