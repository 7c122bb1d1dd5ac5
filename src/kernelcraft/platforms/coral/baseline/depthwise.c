/* DepthwiseConv: pad each channel with -input_offset (so padded taps add 0), then per output row
   accumulate w[c, u, v] * (x + input_offset) in int32 and requantise per channel. */
#define PAD (P_k / 2)
#define WIDTH (P_H + 2 * PAD)
static int8_t padded[WIDTH][WIDTH];

int main(void) {
  const int8_t *x = (const int8_t *)X_ADDR;
  const int8_t *w = (const int8_t *)W_ADDR;
  const int32_t *bias = (const int32_t *)BIAS_ADDR;
  const int32_t *mult = (const int32_t *)MULTIPLIER_ADDR;
  int8_t *y = (int8_t *)Y_ADDR;
  for (int c = 0; c < P_C; c++) {
    for (int i = 0; i < WIDTH; i++)
      for (int j = 0; j < WIDTH; j++) {
        int si = i - PAD, sj = j - PAD;
        padded[i][j] = (si >= 0 && si < P_H && sj >= 0 && sj < P_H) ? x[(c * P_H + si) * P_H + sj]
                                                                   : (int8_t)(-INPUT_OFFSET);
      }
    for (int i = 0; i < P_H; i++) {
      for (size_t j = 0; j < P_H;) {
        size_t vl = __riscv_vsetvl_e32m4(P_H - j);
        vint32m4_t acc = __riscv_vmv_v_x_i32m4(bias[c], vl);
        for (int u = 0; u < P_k; u++)
          for (int v = 0; v < P_k; v++) {
            vint16m2_t xv = __riscv_vsext_vf2_i16m2(__riscv_vle8_v_i8m1(&padded[i + u][j + v], vl), vl);
            xv = __riscv_vadd_vx_i16m2(xv, INPUT_OFFSET, vl);
            acc = __riscv_vwmacc_vx_i32m4(acc, w[(c * P_k + u) * P_k + v], xv, vl);
          }
        acc = __riscv_vsmul_vx_i32m4(acc, mult[c], __RISCV_VXRM_RNU, vl);
        acc = __riscv_vssra_vx_i32m4(acc, SHIFT, __RISCV_VXRM_RNU, vl);
        acc = __riscv_vadd_vx_i32m4(acc, OUT_ZERO_POINT, vl);
        acc = __riscv_vmax_vx_i32m4(__riscv_vmin_vx_i32m4(acc, 127, vl), -128, vl);
        vint16m2_t a16 = __riscv_vncvt_x_x_w_i16m2(acc, vl);
        __riscv_vse8_v_i8m1(y + (c * P_H + i) * P_H + j, __riscv_vncvt_x_x_w_i8m1(a16, vl), vl);
        j += vl;
      }
    }
  }
  return 0;
}
