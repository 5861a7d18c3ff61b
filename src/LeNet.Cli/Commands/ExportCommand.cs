// `lenet export MODEL --onnx OUT.onnx`: the model as a standard ONNX file (opset 13) for ONNX
// Runtime, Netron or Python. Input "image" [N,1,28,28] with pixel values 0–255; outputs "scores" and
// "probabilities" [N,10].
using System.CommandLine;
using LeNet.Interop;
using LeNet.Models;

namespace LeNet.Cli.Commands;

public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("MODEL") { Description = $"A .lenet model file, or a built-in model: {string.Join(", ", PretrainedModels.Names)}." };
        var onnx = new Option<string>("--onnx") { Description = "The ONNX file to write (opset 13).", Required = true, HelpName = "OUT.onnx" };
        var cmd = new Command("export", "Export a model to ONNX (input 'image' [N,1,28,28], pixels 0–255; outputs 'scores' and 'probabilities' [N,10]).") { model, onnx };
        cmd.SetAction(r =>
        {
            string path = r.GetValue(onnx)!;
            var network = PretrainedModels.Resolve(r.GetValue(model)!);
            OnnxExport.Save(network, path);
            Console.WriteLine($"Wrote {path} ({new FileInfo(path).Length:N0} bytes, ONNX opset {OnnxExport.Opset}, {network.Spec.Name})");
            return Cli.Ok;
        });
        return cmd;
    }
}
