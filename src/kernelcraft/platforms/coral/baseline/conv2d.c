/* Conv2D (and ConvBlock): copy x into a zero-padded buffer, then for each output row
   accumulate w[o, c, u, v] * padded row segments with vwmacc.vx; ConvBlock adds the bias and
   requantises per channel with the ReLU as the lower clamp. */
#define PAD (P_k / 2)
#define WIDTH (P_H + 2 * PAD)
static int8_t padded[P_Cin][WIDTH][WIDTH];

int main(void) {
  const int8_t *x = (const int8_t *)X_ADDR;
  const int8_t *w = (const int8_t *)W_ADDR;
  for (int c = 0; c < P_Cin; c++)
    for (int i = 0; i < WIDTH; i++)
      for (int j = 0; j < WIDTH; j++) {
        int si = i - PAD, sj = j - PAD;
        padded[c][i][j] = (si >= 0 && si < P_H && sj >= 0 && sj < P_H) ? x[(c * P_H + si) * P_H + sj] : 0;
      }
  for (int o = 0; o < P_Cout; o++) {
    for (int i = 0; i < P_H; i++) {
      for (size_t j = 0; j < P_H;) {
        size_t vl = __riscv_vsetvl_e32m4(P_H - j);
#ifdef CONV_BLOCK
        vint32m4_t acc = __riscv_vmv_v_x_i32m4(((const int32_t *)BIAS_ADDR)[o], vl);
#else
        vint32m4_t acc = __riscv_vmv_v_x_i32m4(0, vl);
#endif
        for (int c = 0; c < P_Cin; c++)
          for (int u = 0; u < P_k; u++)
            for (int v = 0; v < P_k; v++) {
              vint16m2_t xv = __riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(&padded[c][i + u][j + v], vl), vl);
              acc = __riscv_vwmacc_vx_i32m4(acc, w[((o * P_Cin + c) * P_k + u) * P_k + v], xv, vl);
            }
#ifdef CONV_BLOCK
        acc = __riscv_vsmul_vx_i32m4(acc, ((const int32_t *)MULTIPLIER_ADDR)[o], __RISCV_VXRM_RNU, vl);
        acc = __riscv_vssra_vx_i32m4(acc, SHIFT, __RISCV_VXRM_RNU, vl);
        acc = __riscv_vadd_vx_i32m4(acc, OUT_ZERO_POINT, vl);
        acc = __riscv_vmax_vx_i32m4(__riscv_vmin_vx_i32m4(acc, 127, vl), OUT_ZERO_POINT, vl);
        vint16m2_t a16 = __riscv_vncvt_x_x_w_i16m2(acc, vl);
        __riscv_vse8_v_i8m1((int8_t *)Y_ADDR + (o * P_H + i) * P_H + j, __riscv_vncvt_x_x_w_i8m1(a16, vl), vl);
#else
        __riscv_vse32_v_i32m4((int32_t *)Y_ADDR + (o * P_H + i) * P_H + j, acc, vl);
#endif
        j += vl;
      }
    }
  }
  return 0;
}
